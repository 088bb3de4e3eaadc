"""The activities' unit of work: a business refusal reaches the workflow typed and
non-retryable, with nothing of the refused work committed; other errors stay retryable."""

import pytest
from sqlalchemy import select
from temporalio.exceptions import ApplicationError

from activities.steps import refusing
from domain.errors import NotAllowed
from domain.models import Site


def test_a_refusal_is_typed_final_and_leaves_nothing_written(sessions):
    with sessions() as s:
        site = s.scalars(select(Site).order_by(Site.id)).first()
        before = site.name

    with pytest.raises(ApplicationError) as refused:
        with refusing(sessions) as s:
            s.get(Site, site.id).name = "half-written"
            s.flush()
            raise NotAllowed("only EHS may clear a stop-work", field="actor")
    assert refused.value.type == "NotAllowed"
    assert refused.value.non_retryable
    assert refused.value.message == "only EHS may clear a stop-work"
    assert list(refused.value.details) == ["actor"]
    with sessions() as s:
        assert s.get(Site, site.id).name == before

    with pytest.raises(ConnectionError):  # not a rule: the activity is retried as usual
        with refusing(sessions):
            raise ConnectionError("database went away")

    with refusing(sessions) as s:
        s.get(Site, site.id).name = before + " (renamed)"
    with sessions() as s:
        assert s.get(Site, site.id).name == before + " (renamed)"
