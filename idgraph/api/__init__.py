"""gRPC edge: proto <-> domain conversion, servicers, error mapping, server assembly."""
