"""Image analysis: decode once, let each analyser contribute tags and facts.

Public surface: :func:`analyse` (bytes -> :class:`Analysis`), :func:`sniff_format`
(cheap format check for uploads), :class:`UndecodableImage`, :class:`Analyser`.
"""
from .decode import SUPPORTED_FORMATS, DecodedImage, UndecodableImage, decode, sniff_format
from .pipeline import ANALYSIS_VERSION, Analyser, Analysis, analyse, default_analysers

__all__ = [
    "ANALYSIS_VERSION",
    "SUPPORTED_FORMATS",
    "Analyser",
    "Analysis",
    "DecodedImage",
    "UndecodableImage",
    "analyse",
    "decode",
    "default_analysers",
    "sniff_format",
]
