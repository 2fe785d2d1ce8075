"""Lists the source files, with their copts, that Bazel compiles into a target.

bazel_sources(name, shared, archive) writes <name>.tsv with one line per compiled file of this
repository: `shared|archive <TAB> owning label <TAB> copts <TAB> path`. The drift test
(check_sources.py) compares it with cmake/sources.cmake.
"""

SourcesInfo = provider(fields = {"entries": "depset of (label, copts, path) strings"})

_COMPILED = ["c", "cc", "cpp", "S"]

def _sources_aspect_impl(target, ctx):
    entries = []
    if ctx.rule.kind in ["cc_library", "cc_binary", "cc_test"]:
        copts = " ".join(getattr(ctx.rule.attr, "copts", []))
        for f in getattr(ctx.rule.files, "srcs", []):
            # Only this repository's files: Debian's libraries (@system) are not built.
            if f.extension in _COMPILED and f.owner.workspace_name == "":
                entries.append("%s\t%s\t%s" % (target.label, copts, f.path))
    transitive = []
    for attr in ["deps", "srcs"]:
        for dep in getattr(ctx.rule.attr, attr, []):
            if type(dep) == "Target" and SourcesInfo in dep:
                transitive.append(dep[SourcesInfo].entries)
    return [SourcesInfo(entries = depset(entries, transitive = transitive))]

# Follows deps (cc rules) and srcs (the archive's genrule lists its libraries there).
sources_aspect = aspect(
    implementation = _sources_aspect_impl,
    attr_aspects = ["deps", "srcs"],
)

def _bazel_sources_impl(ctx):
    lines = []
    for role, target in [("shared", ctx.attr.shared), ("archive", ctx.attr.archive)]:
        for entry in target[SourcesInfo].entries.to_list():
            lines.append("%s\t%s" % (role, entry))
    out = ctx.actions.declare_file(ctx.label.name + ".tsv")
    ctx.actions.write(out, "\n".join(sorted(lines)) + "\n")
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

bazel_sources = rule(
    implementation = _bazel_sources_impl,
    attrs = {
        "archive": attr.label(aspects = [sources_aspect], mandatory = True),
        "shared": attr.label(aspects = [sources_aspect], mandatory = True),
    },
)
