"""Load generators: a fast fixed load (``fixed``) and mixed plain, streaming and hung-up
clients (``mixed``)."""
