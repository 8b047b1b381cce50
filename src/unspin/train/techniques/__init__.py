"""Train, export, tune and evaluate the propaganda-technique taggers (`fast`, `minilm-l6`, `accurate`).

    python -m unspin.train.techniques --config configs/techniques-fast.toml \
        --data-dir ../shared/data/ptc --out src/unspin/models/techniques/fast [--stages all]

Stages (run in order; each reads what the previous one wrote, so a stage can be re-run alone):

* ``teacher`` -- only for a config with ``[distil]``: a shipped model's token probabilities on the
  training articles and on unlabelled articles, the soft targets of distillation.
* ``train``  -- a token tagger on the base encoder (all its layers or the lower ``layers``), 15 sigmoid
  outputs per token (14 techniques and "any technique"), each output's bias initialised at its
  log-odds in the training windows; a checkpoint per epoch and the best epoch (lowest dev loss over
  all outputs) kept as ``best.pt`` in the work folder.
* ``export`` -- ONNX (dynamic batch and sequence axes), then dynamic int8 quantisation.
* ``tune``   -- with the shipped ONNX model and the torch-free tagger: per-technique thresholds, the
  Repetition recurrence boost, the TC scoring rule and the score calibration, all on the dev split;
  writes ``config.json``.
* ``smooth`` -- only with ``[export] smooth_ffn_output = alpha``: the feed-forward output projections
  that ``export`` left in float are smoothed and made int8 (`unspin.train.smooth`), with activation
  maxima from training windows; dev probabilities before and after are compared. It runs after
  ``tune``, so the decoding tuned on the float model is kept.
* ``tc``     -- run alone (``--stages tc``) on a tuned model: refit only its TC step with the span
  classifier that ``[tc] span_classifier`` names (`unspin.techniques.classifier`), keeping
  it when its 5-fold dev accuracy is higher (a full run does this inside ``tune``).
* ``head``   -- only with ``[tc] span_head``: a span head that names the technique of the model's own
  spans from its hidden states (`stage_head`); its hidden-state part becomes the graph's "span_head"
  output. Run it after ``tc`` when that stage is re-run alone.
* ``hysteresis`` -- on a finished model: the SI threshold and seed and the technique spans' seed
  factor, chosen on dev with its own probabilities (the rest of its config.json stays).
* ``crossfit`` -- only with ``[crossfit]``: the decoding chosen on the dev split alone, estimated there
  by cross-fitting (each fold decoded with choices made on the other folds).
* ``precise`` -- only with ``[precise]``: the default view's operating point (per-technique confidence
  thresholds for the best F-beta, beta < 1: precision first), chosen on dev's cross-fitted spans and estimated by
  cross-validation there (`unspin.train.techniques.precise`).
* ``test``   -- the official SemEval-2020 span metrics on the held-out test split, the
  every-sentence baseline, calibration error and speed; writes ``MODEL_CARD.md``.

One module per stage (`teacher`, `training`, `export`, `tune`, `tc`, `head`, `hysteresis`, `crossfit`,
`precise`, `evaluate` for `test`), the decoding choices they share in `decoding`, the model card in `card`, and
the stage registry and command line in `run`. torch is imported only inside the stages that need it.
"""

from unspin.train.techniques.run import STAGES, main

__all__ = ["STAGES", "main"]
