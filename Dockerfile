FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY app ./app
COPY workers ./workers
COPY config ./config
RUN pip install --no-cache-dir . && useradd --system hooklet
USER hooklet
ENV PYTHONUNBUFFERED=1
EXPOSE 8000 5555
CMD ["gunicorn", "-c", "config/gunicorn.conf.py", "app.wsgi:app"]
