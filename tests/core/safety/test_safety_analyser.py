"""SafetyAnalyser and the TAGGING_NSFW_THRESHOLD setting: the nsfw_score fact always,
the nsfw tag (source "safety") from the threshold on, the threshold reaching the
analysers from the app settings."""
from __future__ import annotations

from pathlib import Path

import pytest

from tagging.core.analysis import analyse, default_analysers
from tagging.core.analysis.decode import decode
from tagging.core.analysis.safety import DEFAULT_NSFW_THRESHOLD, SafetyAnalyser
from tagging.core.safety import get_nsfw_classifier
from tagging.core.tags import Tag
from tagging.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[3]
PHOTOS = ROOT / "tests" / "fixtures" / "photos"
ENV = {"AzureWebJobsStorage": "UseDevelopmentStorage=true", "TAGGING_QUEUE": "tag-requests"}


def decoded(name: str):
    return decode((PHOTOS / name).read_bytes(), 10**9)


def test_the_score_is_a_fact_and_a_safe_photo_gets_no_tag() -> None:
    result = SafetyAnalyser().analyse(decoded("astronaut.jpg"))
    assert result.tags == []
    assert set(result.facts) == {"nsfw_score"}
    score = result.facts["nsfw_score"]
    assert 0.0 <= score < 0.2 and score == round(score, 3)


def test_the_tag_appears_at_the_threshold_with_the_score_as_confidence() -> None:
    image = decoded("astronaut.jpg")
    score = get_nsfw_classifier().score(image.working)  # ~0.03: a low threshold stands in for a real NSFW photo
    at = SafetyAnalyser(threshold=score).analyse(image)
    assert at.tags == [Tag("nsfw", score, "safety")]
    above = SafetyAnalyser(threshold=min(1.0, score + 0.001)).analyse(image)
    assert above.tags == [] and above.facts == at.facts


def test_the_threshold_must_be_a_probability() -> None:
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"outside 0\.\.1"):
            SafetyAnalyser(bad)
    assert SafetyAnalyser(0.0).threshold == 0.0 and SafetyAnalyser(1.0).threshold == 1.0


def test_the_setting_defaults_to_0_8_like_the_analyser_and_the_examples() -> None:
    assert Settings.from_env(ENV).nsfw_threshold == DEFAULT_NSFW_THRESHOLD == 0.8
    example = (ROOT / "local.settings.json.example").read_text(encoding="utf-8")
    assert '"TAGGING_NSFW_THRESHOLD": "0.8"' in example
    assert "TAGGING_NSFW_THRESHOLD: '0.8'" in (ROOT / "infra" / "app" / "api.bicep").read_text(encoding="utf-8")


@pytest.mark.parametrize("raw, expected", [("0.5", 0.5), (" 1 ", 1.0), ("0", 0.0), ("", 0.8)])
def test_the_setting_accepts_numbers_from_0_to_1(raw: str, expected: float) -> None:
    assert Settings.from_env({**ENV, "TAGGING_NSFW_THRESHOLD": raw}).nsfw_threshold == expected


@pytest.mark.parametrize(
    "raw, message",
    [("high", "is not a number"), ("1.2", "out of range"), ("-0.1", "out of range"), ("nan", "out of range")],
)
def test_a_bad_setting_is_refused_naming_it(raw: str, message: str) -> None:
    with pytest.raises(SettingsError, match=f"TAGGING_NSFW_THRESHOLD.*{message}.*from 0 to 1"):
        Settings.from_env({**ENV, "TAGGING_NSFW_THRESHOLD": raw})


def test_the_setting_reaches_the_pipeline_s_safety_analyser() -> None:
    from tagging.services.tagging import TagService

    settings = Settings.from_env({**ENV, "TAGGING_NSFW_THRESHOLD": "0.01"})
    service = TagService(settings, storage=None)  # type: ignore[arg-type]  # analysers only
    (safety,) = [a for a in service._analysers if a.name == "safety"]
    assert safety.threshold == 0.01
    (default,) = [a for a in default_analysers() if a.name == "safety"]
    assert default.threshold == 0.8


def test_the_default_pipeline_stores_the_score() -> None:
    result = analyse((PHOTOS / "coffee.png").read_bytes(), 10**9)
    assert 0.0 <= result.facts["nsfw_score"] < 0.2
    assert "nsfw" not in {t.name for t in result.tags}
