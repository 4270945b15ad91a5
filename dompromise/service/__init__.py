"""The gRPC service layer: servicers, conversion, error mapping. Calls only the engine."""
