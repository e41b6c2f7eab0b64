# -*- coding: utf-8 -*-
"""Start Autobahn|Testsuite's `wstest` from the private install in autobahn/work.

Runs under PyPy 2.7 (see run.sh). Usage is the same as `wstest`:

    pypy wstest_wrapper.py SITE_DIR -m fuzzingserver -s spec.json --webport 0

One extra mode prints how many cases a fuzzingclient/fuzzingserver spec
selects (wstest itself waits forever when a spec selects none):

    pypy wstest_wrapper.py SITE_DIR --count-cases spec.json

SITE_DIR is the `pip install --target` directory holding the suite and its
dependencies. It is loaded with site.addsitedir() so that the .pth files of
namespace packages (zope) are processed.

Every TCP listener that wstest opens without naming an interface is bound to
AUTOBAHN_BIND (default 127.0.0.1) instead of all interfaces.
"""
import json
import os
import site
import sys


def count_cases(spec_path):
    with open(spec_path) as f:
        spec = json.load(f)
    from autobahntestsuite import fuzzing
    case_set = fuzzing.CaseSet(fuzzing.CaseSetname, fuzzing.CaseBasename,
                               fuzzing.Cases, fuzzing.CaseCategories,
                               fuzzing.CaseSubCategories)
    print(len(case_set.parseSpecCases(spec)))
    return 0


def main():
    if len(sys.argv) < 2:
        sys.stderr.write("usage: wstest_wrapper.py SITE_DIR [wstest args...]\n")
        return 2
    site_dir = os.path.abspath(sys.argv[1])
    site.addsitedir(site_dir)
    if sys.argv[2:3] == ["--count-cases"]:
        return count_cases(sys.argv[3])

    bind = os.environ.get("AUTOBAHN_BIND", "127.0.0.1")

    # Importing posixbase does not install a reactor, so wstest can still
    # choose its own (epoll) reactor afterwards.
    from twisted.internet import posixbase

    original_listen_tcp = posixbase.PosixReactorBase.listenTCP

    def listen_tcp(self, port, factory, backlog=50, interface=""):
        if interface in ("", "0.0.0.0", "::", None):
            interface = bind
        return original_listen_tcp(self, port, factory, backlog, interface)

    posixbase.PosixReactorBase.listenTCP = listen_tcp

    # What the `wstest` console script does.
    sys.argv = ["wstest"] + sys.argv[2:]
    from autobahntestsuite import wstest
    return wstest.run()


if __name__ == "__main__":
    sys.exit(main())
