"""How `invoicer eval` reads an ECE: against the ECE perfectly calibrated confidences would show by chance on the
same number of values, and with the overall gap between confidence and accuracy."""

from cli.extract import chance_ece, overall_gap


def test_chance_ece_shrinks_with_more_values_and_is_reproducible() -> None:
    few = [{"count": 12, "confidence": 0.7, "accuracy": 0.75}, {"count": 20, "confidence": 0.85, "accuracy": 0.8}]
    many = [{"count": 1200, "confidence": 0.7, "accuracy": 0.7}, {"count": 2000, "confidence": 0.85, "accuracy": 0.85}]
    few_median, few_high = chance_ece(few)
    many_median, many_high = chance_ece(many)
    assert 0 < many_median < few_median <= few_high
    assert many_high < 0.02 < few_median
    assert chance_ece(few) == (few_median, few_high)


def test_chance_ece_of_certain_values_is_their_distance_from_one() -> None:
    assert chance_ece([{"count": 50, "confidence": 1.0, "accuracy": 1.0}]) == (0.0, 0.0)
    assert chance_ece([]) == (0.0, 0.0)


def test_overall_gap_is_signed_by_over_confidence() -> None:
    over = [{"count": 10, "confidence": 0.9, "accuracy": 0.6}, {"count": 30, "confidence": 0.5, "accuracy": 0.5}]
    under = [{"count": 40, "confidence": 0.6, "accuracy": 0.8}]
    assert abs(overall_gap(over) - 0.075) < 1e-9
    assert abs(overall_gap(under) + 0.2) < 1e-9
    assert overall_gap([]) == 0.0
