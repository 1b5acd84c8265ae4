"""Domain errors cross process boundaries (a job run apart raises one): they must come back whole."""

from __future__ import annotations

import pickle

from crm.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from crm.customers.customers import Duplicates, DuplicateSuspected
from crm.customers.importing import ImportHasErrors, UnreadableFile


def test_domain_errors_pickle_with_their_key_params_and_attributes() -> None:
    for error in (DomainError(), NotFound(), ValidationFailed("x.y", limit=3), Conflict("c.d", name="王"),
                  UnreadableFile("importing.too_many_rows", limit=100_000), ImportHasErrors(count=2)):
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is type(error)
        assert (back.key, back.params, back.args) == (error.key, error.params, error.args)
    suspected = DuplicateSuspected(Duplicates(visible=(), hidden=2))
    back = pickle.loads(pickle.dumps(suspected))
    assert isinstance(back, DuplicateSuspected) and back.duplicates == suspected.duplicates
    assert back.key == "customers.duplicate"
