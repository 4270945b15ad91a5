"""gRPC clients: the counter lookup, the stock loader and the `dompromise bench` driver.

They import the generated stubs and grpc only, so a client never loads the engine.
"""
