import sys

from dompromise.cli import main

sys.exit(main())
