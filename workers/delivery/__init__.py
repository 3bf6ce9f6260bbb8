"""Delivery: signed callbacks with retries, the egress guard every outbound
request passes, and verification of senders' signatures."""
