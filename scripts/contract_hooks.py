"""schemathesis hooks for scripts/contract-test (loaded as SCHEMATHESIS_HOOKS=contract_hooks)."""
import ast
import threading

import schemathesis

# CPython 3.11 (Debian 12's 3.11.2 and 3.11.7 alike) raises "SystemError: AST constructor recursion depth
# mismatch" from ast.parse when it is called deep in a recursion (python/cpython#106905), which hypothesis does
# to describe the lambdas schemathesis filters with: a run then ends in a Runtime Error that says nothing of
# Cross. The parse is tried again on a thread of its own, whose stack is shallow.
_parse = ast.parse


def _parse_on_a_shallow_stack(*arguments, **options):
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


ast.parse = _parse_on_a_shallow_stack


@schemathesis.hook
def filter_failure(context, failure, case, response):
    # nginx answers TRACE itself, before any location and so before Cross: a 405 page of its own without
    # `Allow`. Every other undeclared method reaches Cross, whose 405 names the allowed ones.
    return not (case.method.upper() == "TRACE" and response.status_code == 405)
