"""The throwaway Redis the limit, session and queue suites run against."""

import redis


def test_the_throwaway_redis_answers_and_is_emptied_for_each_test(redis_url):
    with redis.Redis.from_url(redis_url) as client:
        assert client.dbsize() == 0
        client.set("left-behind", "1")


def test_a_restart_keeps_the_port_and_loses_what_was_not_persisted(redis_server, redis_url):
    with redis.Redis.from_url(redis_url) as client:
        client.set("before", "1")
    redis_server.restart()
    with redis.Redis.from_url(redis_url) as client:
        assert client.ping() and client.get("before") is None
