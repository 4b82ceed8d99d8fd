"""schemathesis hooks for scripts/contract-test (loaded as SCHEMATHESIS_HOOKS=contract_hooks)."""
import ast
import threading

import schemathesis

# CPython 3.11 keeps the depth counter of ast.parse's tree building in one place per interpreter, not per
# thread: two threads parsing at once (schemathesis's two workers, each with hypothesis describing the lambdas
# it filters with) corrupt it, and the parse fails with "SystemError: AST constructor recursion depth mismatch"
# (python/cpython#106905; seen in CI with before=15, after=106). A run then ends in a Runtime Error that says
# nothing of Cross. One lock makes the parses take turns (nothing else in the run parses Python). The counter
# also starts from the calling thread's depth, so a parse that still fails is tried once more, in turn, on a
# thread of its own, whose stack is shallow: an earlier session's retry without the lock still failed in CI.
_parse = ast.parse
_one_parse_at_a_time = threading.Lock()


def _parse_in_turn(*arguments, **options):
    with _one_parse_at_a_time:
        try:
            return _parse(*arguments, **options)
        except SystemError:
            outcome = {}

            def parse():
                try:
                    outcome["tree"] = _parse(*arguments, **options)
                except BaseException as error:  # noqa: BLE001 -- handed back to the caller as it is
                    outcome["error"] = error

            thread = threading.Thread(target=parse)
            thread.start()
            thread.join()
            if "error" in outcome:
                raise outcome["error"]
            return outcome["tree"]


ast.parse = _parse_in_turn


@schemathesis.hook
def filter_failure(context, failure, case, response):
    # nginx answers TRACE itself, before any location and so before Cross: a 405 page of its own without
    # `Allow`. Every other undeclared method reaches Cross, whose 405 names the allowed ones.
    return not (case.method.upper() == "TRACE" and response.status_code == 405)
