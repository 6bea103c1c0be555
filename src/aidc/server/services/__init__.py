"""Control-plane logic: each function takes the session explicitly and keyword arguments."""
