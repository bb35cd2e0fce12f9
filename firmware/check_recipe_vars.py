#!/usr/bin/env python3
# check_recipe_vars.py - Offline checks of the Buildroot and Yocto recipes' required variables,
# run by firmware/check-recipes (which also runs the negative cases against altered copies).
# Reads the files as text; never runs Buildroot or BitBake.
#
# usage: check_recipe_vars.py buildroot BR2_EXTERNAL_DIR REPO_ROOT
#        check_recipe_vars.py yocto LAYER_DIR REPO_ROOT
# Prints one line per problem and exits 1 if there is any; prints the facts it checked otherwise.
#
# REPO_ROOT gives the project version (project(outpost VERSION ...) in CMakeLists.txt) and the
# licence state: a LICENSE*/COPYING* file at its top must be named by the recipes with its right
# checksum; with none, the recipes must say the code is proprietary (Buildroot PROPRIETARY, Yocto
# CLOSED), so the recipes cannot drift from the repository either way.
import glob
import hashlib
import os
import re
import sys

problems = []
facts = []


def problem(msg):
    problems.append(msg)


def read(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        problem(f"{path}: cannot read ({e.strerror})")
        return ""


def project_version(root):
    m = re.search(r"project\(\s*outpost\s+VERSION\s+([0-9][0-9.]*)", read(os.path.join(root, "CMakeLists.txt")))
    if not m:
        problem(f"{root}/CMakeLists.txt: no project(outpost VERSION ...)")
        return None
    return m.group(1)


def licence_files(root):
    names = []
    for pattern in ("LICENSE*", "LICENCE*", "COPYING*"):
        names += [os.path.basename(p) for p in glob.glob(os.path.join(root, pattern)) if os.path.isfile(p)]
    return sorted(set(names))


def digest(path, algo):
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def make_vars(text, prefix):
    """Assignments PREFIX_NAME (=, :=, ?=, +=) in a Makefile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", text)
    out = {}
    for line in text.splitlines():
        m = re.match(rf"^({prefix}[A-Z0-9_]+)\s*(\+=|:=|\?=|=)\s*(.*)$", line)
        if m:
            name, op, value = m.groups()
            out[name] = (out.get(name, "") + " " + value).strip() if op == "+=" else value.strip()
    return out


def bb_vars(text):
    """Assignments in a BitBake file (NAME[:override] op "value"), continuation lines joined."""
    text = re.sub(r"\\\n", " ", text)
    out = {}
    for line in text.splitlines():
        m = re.match(r'^([A-Za-z_][A-Za-z0-9_${}:\-\[\]]*)\s*(\?\?=|\?=|:=|\+=|=\+|\.=|=)\s*"(.*)"\s*$', line)
        if m:
            name, op, value = m.groups()
            out[name] = (out.get(name, "") + " " + value).strip() if op in ("+=", ".=", "=+") else value.strip()
    return out


def generated_copies(root, name):
    """Copies of a file embed.mjs writes: $OUTPOST_CLIENT_BUNDLE_DIR, build/client-bundle, build dirs."""
    paths = []
    if os.environ.get("OUTPOST_CLIENT_BUNDLE_DIR"):
        paths.append(os.path.join(os.environ["OUTPOST_CLIENT_BUNDLE_DIR"], name))
    paths.append(os.path.join(root, "build", "client-bundle", name))
    paths += glob.glob(os.path.join(root, "build", "*", "generated", "admin", name))
    return [p for p in paths if os.path.isfile(p)]


def check_buildroot(ext, root, version):
    pkg = os.path.join(ext, "package", "outpost")
    mk_path = os.path.join(pkg, "outpost.mk")
    mk = read(mk_path)
    v = make_vars(mk, "OUTPOST_")
    for name in ("OUTPOST_VERSION", "OUTPOST_SITE", "OUTPOST_LICENSE", "OUTPOST_LICENSE_FILES",
                 "OUTPOST_DEPENDENCIES", "OUTPOST_CONF_OPTS"):
        if not v.get(name):
            problem(f"{mk_path}: {name} is not set")
    if not re.search(r"^\$\(eval \$\(cmake-package\)\)\s*$", mk, re.M):
        problem(f"{mk_path}: no $(eval $(cmake-package)) line")
    if version and v.get("OUTPOST_VERSION") and v["OUTPOST_VERSION"] != version:
        problem(f"{mk_path}: OUTPOST_VERSION {v['OUTPOST_VERSION']} is not the project version {version}")
    deps = v.get("OUTPOST_DEPENDENCIES", "").split()
    for need in ("libwebsockets", "mbedtls"):
        if deps and need not in deps:
            problem(f"{mk_path}: OUTPOST_DEPENDENCIES lacks {need}")
    if "openssl" in deps:
        problem(f"{mk_path}: OUTPOST_DEPENDENCIES names openssl")
    opts = v.get("OUTPOST_CONF_OPTS", "")
    for need in ("-DOUTPOST_CLIENT_BUNDLE_DIR=", "-DOUTPOST_TESTS=OFF"):
        if opts and need not in opts:
            problem(f"{mk_path}: OUTPOST_CONF_OPTS lacks {need}")

    # Licence: the repository's licence file, or PROPRIETARY when it has none.
    lic = v.get("OUTPOST_LICENSE", "")
    lic_files = v.get("OUTPOST_LICENSE_FILES", "").split()
    repo_lics = licence_files(root)
    if repo_lics:
        if "PROPRIETARY" in lic:
            problem(f"{mk_path}: OUTPOST_LICENSE says PROPRIETARY but the repository has {', '.join(repo_lics)}")
        for f in repo_lics:
            if f not in lic_files:
                problem(f"{mk_path}: OUTPOST_LICENSE_FILES does not name {f}")
    elif lic and "PROPRIETARY" not in lic:
        problem(f"{mk_path}: OUTPOST_LICENSE is '{lic}' but the repository has no licence file (say PROPRIETARY)")

    # Config.in: the option, its type, its help, what it selects.
    cfg_path = os.path.join(pkg, "Config.in")
    cfg = read(cfg_path)
    m = re.search(r"^config BR2_PACKAGE_OUTPOST\n((?:[ \t].*\n|\n)*)", cfg, re.M)
    if not m:
        problem(f"{cfg_path}: no 'config BR2_PACKAGE_OUTPOST'")
    else:
        body = m.group(1)
        if not re.search(r"^\s+bool\s+\"outpost\"", body, re.M):
            problem(f"{cfg_path}: BR2_PACKAGE_OUTPOST is not 'bool \"outpost\"'")
        h = re.search(r"^\s+help\n((?:\s+\S.*\n)+)", body, re.M)
        if not h:
            problem(f"{cfg_path}: BR2_PACKAGE_OUTPOST has no help text")
        for sel in ("BR2_PACKAGE_MBEDTLS", "BR2_PACKAGE_LIBWEBSOCKETS"):
            if not re.search(rf"^\s+select {sel}\b", body, re.M):
                problem(f"{cfg_path}: BR2_PACKAGE_OUTPOST does not select {sel}")

    # The hash file: well-formed lines, one per licence file, equal to any copy found here.
    hash_path = os.path.join(pkg, "outpost.hash")
    lengths = {"md5": 32, "sha1": 40, "sha224": 56, "sha256": 64, "sha384": 96, "sha512": 128}
    hashes = {}
    for n, line in enumerate(read(hash_path).splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 3 or parts[0] not in lengths or not re.fullmatch(rf"[0-9a-f]{{{lengths.get(parts[0], 0)}}}", parts[1]):
            problem(f"{hash_path}:{n}: not '<algo> <hex digest> <file>': {line.strip()}")
            continue
        hashes.setdefault(parts[2], []).append((parts[0], parts[1]))
    if not any(a == "sha256" for hs in hashes.values() for a, _ in hs):
        problem(f"{hash_path}: no sha256 line")
    for f in lic_files:
        if f not in hashes:
            problem(f"{hash_path}: no hash for the licence file {f}")
    for f, hs in hashes.items():
        copies = [os.path.join(root, f)] if os.path.isfile(os.path.join(root, f)) else []
        if not copies and f.startswith("client-bundle/"):
            copies = sorted(generated_copies(root, f[len("client-bundle/"):]), key=os.path.getmtime)[-1:]
        for copy in copies:
            for algo, want in hs:
                got = digest(copy, algo)
                if got != want:
                    problem(f"{hash_path}: {algo} of {f} is {want}, but {copy} has {got}")
                else:
                    facts.append(f"{f} {algo} matches {os.path.relpath(copy, root)}")
        if not copies:
            facts.append(f"{f}: no copy here to compare with")

    for path in ("external.desc", "external.mk", "Config.in"):
        if not os.path.isfile(os.path.join(ext, path)):
            problem(f"{ext}/{path} is missing (BR2_EXTERNAL tree)")
    if "name: OUTPOST" not in read(os.path.join(ext, "external.desc")):
        problem(f"{ext}/external.desc: name is not OUTPOST (outpost.mk uses BR2_EXTERNAL_OUTPOST_PATH)")
    init = os.path.join(pkg, "S50outpost")
    if not os.access(init, os.X_OK):
        problem(f"{init}: missing or not executable")
    if "S50outpost" not in mk:
        problem(f"{mk_path}: does not install S50outpost")
    facts.append(f"buildroot: version {v.get('OUTPOST_VERSION')}, licence '{lic}', {len(hashes)} hashed file(s)")


def check_yocto(layer, root, version):
    recipes = glob.glob(os.path.join(layer, "recipes-*", "outpost", "outpost_*.bb"))
    if len(recipes) != 1:
        problem(f"{layer}: expected one recipes-*/outpost/outpost_*.bb, found {len(recipes)}")
        return
    path = recipes[0]
    text = read(path)
    v = bb_vars(text)
    file_version = re.match(r"outpost_(.+)\.bb$", os.path.basename(path)).group(1)
    if version and file_version not in (version, "git") :
        problem(f"{path}: the file name's version {file_version} is not the project version {version}")
    pv = v.get("PV")
    if version and pv is not None and not (pv == version or pv.startswith(version + "+")):
        problem(f"{path}: PV {pv} is not the project version {version}")
    if file_version == "git" and pv is None:
        problem(f"{path}: outpost_git.bb without PV")
    for name in ("SUMMARY", "LICENSE", "SRC_URI", "SYSTEMD_SERVICE:${PN}", "INITSCRIPT_NAME",
                 "INITSCRIPT_PARAMS", "DEPENDS", "EXTRA_OECMAKE"):
        if not v.get(name):
            problem(f"{path}: {name} is not set")
    inherits = " ".join(re.findall(r"^inherit\s+(.*)$", text, re.M)).split()
    for cls in ("cmake", "systemd", "update-rc.d"):
        if cls not in inherits:
            problem(f"{path}: does not inherit {cls}")
    deps = v.get("DEPENDS", "").split()
    for need in ("libwebsockets", "mbedtls"):
        if deps and need not in deps:
            problem(f"{path}: DEPENDS lacks {need}")
    if v.get("EXTRA_OECMAKE") and "-DOUTPOST_CLIENT_BUNDLE_DIR=" not in v["EXTRA_OECMAKE"]:
        problem(f"{path}: EXTRA_OECMAKE lacks -DOUTPOST_CLIENT_BUNDLE_DIR=")

    # Licence: CLOSED when the repository has no licence file, else LIC_FILES_CHKSUM with its md5.
    lic = v.get("LICENSE", "")
    chk = v.get("LIC_FILES_CHKSUM", "")
    entries = re.findall(r"file://([^;\s]+)((?:;[^\s]*)?)", chk)
    repo_lics = licence_files(root)
    if repo_lics:
        if lic == "CLOSED":
            problem(f"{path}: LICENSE is CLOSED but the repository has {', '.join(repo_lics)}")
        named = [f for f, _ in entries]
        for f in repo_lics:
            if f not in named:
                problem(f"{path}: LIC_FILES_CHKSUM does not name {f}")
    elif lic and lic != "CLOSED":
        problem(f"{path}: LICENSE is '{lic}' but the repository has no licence file (say CLOSED)")
    if lic and lic != "CLOSED" and not entries:
        problem(f"{path}: LIC_FILES_CHKSUM is not set")
    for f, params in entries:
        m = re.search(r";md5=([0-9a-f]+)", params)
        local = os.path.join(root, f)
        if not m:
            problem(f"{path}: LIC_FILES_CHKSUM entry {f} has no md5")
        elif os.path.isfile(local) and ";beginline" not in params and ";endline" not in params:
            if digest(local, "md5") != m.group(1):
                problem(f"{path}: md5 of {f} is {digest(local, 'md5')}, LIC_FILES_CHKSUM says {m.group(1)}")

    # Files the recipe installs from the source tree exist there.
    for rel in sorted(set(re.findall(r"\$\{S\}/([A-Za-z0-9_./-]+)", text))):
        if not os.path.exists(os.path.join(root, rel)):
            problem(f"{path}: installs ${{S}}/{rel}, which is not in the repository")

    appends = glob.glob(os.path.join(layer, "recipes-*", "libwebsockets", "libwebsockets_*.bbappend"))
    if not appends:
        problem(f"{layer}: no libwebsockets bbappend (meta-oe's libwebsockets has no mbedTLS option)")
    for a in appends:
        at = read(a)
        if not re.search(r'^PACKAGECONFIG\[mbedtls\]\s*=\s*"-DLWS_WITH_MBEDTLS=ON,', at, re.M):
            problem(f"{a}: no PACKAGECONFIG[mbedtls] enabling LWS_WITH_MBEDTLS")
        if not re.search(r'^PACKAGECONFIG:append\s*=\s*".*\bmbedtls\b', at, re.M):
            problem(f"{a}: does not enable the mbedtls PACKAGECONFIG")
    conf = read(os.path.join(layer, "conf", "layer.conf"))
    for need in ('BBFILE_COLLECTIONS += "outpost"', "LAYERSERIES_COMPAT_outpost", "OUTPOST_SRCDIR"):
        if need not in conf:
            problem(f"{layer}/conf/layer.conf: lacks {need}")
    facts.append(f"yocto: {os.path.basename(path)}, PV {pv}, LICENSE {lic}, {len(appends)} bbappend(s)")


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("buildroot", "yocto"):
        print(__doc__ if __doc__ else "usage: check_recipe_vars.py buildroot|yocto DIR REPO_ROOT", file=sys.stderr)
        return 2
    kind, where, root = sys.argv[1], sys.argv[2], sys.argv[3]
    version = project_version(root)
    if kind == "buildroot":
        check_buildroot(where, root, version)
    else:
        check_yocto(where, root, version)
    for p in problems:
        print(p)
    if not problems:
        print("; ".join(facts))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
