"""The maintainers' loop (issue 12): from real conversations to training data,
models trained in the background, evaluated, gated, activated and rolled back.

Plain domain code over the tthc database and Rasa's tracker store tables; it
never imports Rasa (training and evaluation run `tthc` in child processes).
The console's pages (console/routes/training.py) are a web layer over it.
"""
