"""Generated from protos/dompromise/v1 by scripts/gen_protos.sh. Do not edit."""
