"""The large-model lifecycle as platform workloads: data, models, training, evaluation, generation, serving.

Imported only by `aidc.cli` (jobs reach it as commands); torch and transformers load lazily.
"""
