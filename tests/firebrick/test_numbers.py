"""Numbers for people: counts stored as floats print as counts, large values without exponents, yes/no."""

from firebrick.numbers import format_value


def test_numbers_read_as_people_write_them():
    assert format_value(29010.0) == "29,010" and format_value(24340.5) == "24,340.5"
    assert format_value(0.1234567) == "0.1235" and format_value(12345678) == "12,345,678"
    assert format_value(True) == "yes" and format_value(None) == "" and format_value([8, 8]) == "8x8"
