"""HTTP/JSON beside gRPC: the v1 RPCs at their google.api.http routes, and the parts-counter page at `/`."""
