"""Generated gRPC stubs (make gen)."""
