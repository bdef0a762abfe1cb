import redis
from sqlalchemy import text


def test_redis_roundtrip(redis_url):
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    r.set("k", "v")
    assert r.get("k") == "v"


def test_db_engine_answers(engine):
    with engine.connect() as c:
        assert c.execute(text("select 1")).scalar() == 1
