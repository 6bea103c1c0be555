"""Evaluation: perplexity, BLEU and chrF against copy and dictionary baselines, checkpoint comparison."""
