-- A stand-in auth hook for rendering tests: what kura renders carries the file as it is.
function authenticate(ctx)
  return { deny = { status = 401, message = "test hook" }, ttl_seconds = 3 }
end
