sweep(now, tonumber(limit))
return 1
