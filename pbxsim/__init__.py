"""A stand-in Asterisk 22 speaking real AMI and FastAGI, matched against recorded traces."""
