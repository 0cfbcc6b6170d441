"""Image analysis: decode once, let each analyser contribute tags and facts.

Public surface: :func:`analyse` (bytes -> :class:`Analysis`), :func:`sniff_format`
(cheap format check for uploads), :class:`UndecodableImage`, :class:`Analyser`.
"""
from .decode import DecodedImage, UndecodableImage, decode, sniff_format, SUPPORTED_FORMATS
from .pipeline import ANALYSIS_VERSION, Analyser, Analysis, analyse, default_analysers

__all__ = [
    "ANALYSIS_VERSION",
    "Analyser",
    "Analysis",
    "DecodedImage",
    "SUPPORTED_FORMATS",
    "UndecodableImage",
    "analyse",
    "decode",
    "default_analysers",
    "sniff_format",
]
