"""spendwise inside the trainers people already run: a transformers/TRL callback (callback.py)
and a round recipe for rejection-sampling / STaR loops with TRL's SFTTrainer (recipe.py).
Both need `pip install "spendwise[trl]"`; nothing here is imported by the `plan` command."""
