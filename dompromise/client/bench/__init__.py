"""`dompromise bench`: a load driver for a running server (see `dompromise bench --help`).

driver.py runs the client processes and merges their results, workloads.py
builds the requests from the server's catalogue, histogram.py wraps
HdrHistogram, options.py holds the command line.
"""
