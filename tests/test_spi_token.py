"""The SPI token rule, against Alibaba's public example and the cases that must fail."""

import hashlib

import pytest

from protocol import spi as spi_token


def test_alibabas_public_example():
    params = {"p1": "1", "p2": "2", "p3": "3"}
    assert spi_token.canonical_string(params, "isvkey") == "p1=1&p2=2&p3=3&key=isvkey"
    assert spi_token.sign(params, "isvkey") == hashlib.md5(b"p1=1&p2=2&p3=3&key=isvkey").hexdigest()


def test_order_of_arrival_does_not_matter_and_token_is_left_out():
    params = {"p3": "3", "p1": "1", "token": "whatever", "p2": "2"}
    assert spi_token.sign(params, "isvkey") == hashlib.md5(b"p1=1&p2=2&p3=3&key=isvkey").hexdigest()


def test_values_are_signed_decoded_including_non_ascii():
    params = {"timeStamp": "2026-11-26 10:00:00", "name": "观测云"}
    expected = hashlib.md5("name=观测云&timeStamp=2026-11-26 10:00:00&key=k".encode()).hexdigest()
    assert spi_token.sign(params, "k") == expected


def test_unknown_extra_parameters_still_verify():
    signed = spi_token.signed({"action": "verify", "instanceId": "1", "brandNew": "x"}, "k")
    assert spi_token.is_valid(signed, "k")


@pytest.mark.parametrize("name", ["action", "instanceId", "timeStamp"])
def test_each_parameter_tampered_fails(name):
    signed = spi_token.signed({"action": "verify", "instanceId": "1", "timeStamp": "2026-11-26 10:00:00"}, "k")
    signed[name] += "x"
    assert not spi_token.is_valid(signed, "k")


@pytest.mark.parametrize(
    "token",
    ["", "abc", "0" * 31, "0" * 33, "g" * 32],
)
def test_malformed_tokens_fail(token):
    assert not spi_token.is_valid({"a": "1", "token": token}, "k")


def test_upper_case_token_fails_even_if_the_digest_matches():
    signed = spi_token.signed({"a": "1"}, "k")
    signed["token"] = signed["token"].upper()
    assert not spi_token.is_valid(signed, "k")


def test_a_wrong_key_fails():
    assert not spi_token.is_valid(spi_token.signed({"a": "1"}, "k"), "other")


def test_cli_prints_the_token(app):
    result = app.test_cli_runner().invoke(args=["spi", "sign", "p1=1&p2=2&p3=3", "--key", "isvkey"])
    assert result.stdout.strip() == hashlib.md5(b"p1=1&p2=2&p3=3&key=isvkey").hexdigest()
