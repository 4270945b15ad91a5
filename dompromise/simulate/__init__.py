"""`dompromise simulate`: a network's weeks in simulated time, and how many promises came true."""
