"""Content tags from the offline classifier (EfficientNet-Lite0 on onnxruntime).

The classifier is imported and built on the first image a worker analyses, not when
the app loads, so HTTP-only cold starts never pay for onnxruntime or the weights.
"""
from __future__ import annotations

from ..tags import Contribution
from ..vocabulary import TagSource
from .decode import DecodedImage


class ContentAnalyser:
    """Coarse searchable tags (source ``classifier``) and the model's fine labels as
    the fact ``labels`` (top 5, each with name, confidence, WordNet id)."""

    name = TagSource.CLASSIFIER

    def analyse(self, image: DecodedImage) -> Contribution:
        from ..classify import MODEL_NAME, get_classifier

        result = get_classifier().classify(image.working)
        return Contribution(
            tags=list(result.tags),
            facts={
                "labels": [label.to_dict() for label in result.labels],
                "classifier": {
                    "model": MODEL_NAME,
                    "perplexity": round(result.perplexity, 2),
                    "uncertain": result.uncertain,
                },
            },
        )
