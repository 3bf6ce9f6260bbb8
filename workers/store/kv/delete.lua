return remove(key)
