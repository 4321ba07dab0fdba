"""greenft: green fine-tuning of pretrained molecular property predictors.

Fine-tune a pretrained molecular model, measure its cumulative CO2 at every epoch with CodeCarbon, stop it
with the AN-GES rule, log everything to Weights & Biases (offline by default) and compare the trade-off.
"""

__version__ = "0.1.0"
