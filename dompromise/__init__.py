"""dompromise: available-to-promise and delivery promise over gRPC."""

__version__ = "0.1.0"
