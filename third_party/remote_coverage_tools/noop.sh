#!/bin/sh
# Coverage tools are not available offline; bazel coverage runs but reports nothing.
exit 0
