"""Names of the files `python -m fastcallbacks demo` writes into its output
directory, shared by `fastcallbacks.demo` (which writes them) and
`fastcallbacks.plot` (which reads them) without either importing the other.
"""

CHECKPOINT = "best.keras"
ACTIVATIONS = "activations.npz"
METRICS = "metrics.csv"
SUMMARY = "summary.json"
