#!/usr/bin/env bash
# setup-vulkan.sh - provide a CPU Vulkan driver so that Dawn (npm `webgpu`,
# used by @tensorflow/tfjs-backend-webgpu under Node) finds an adapter on a
# machine without a GPU.
#
# Preferred driver: lavapipe (Mesa >= 25) from Debian <codename>-backports.
#   The .debs are fetched with `apt-get download` through a private apt
#   configuration (system apt state is left alone) and unpacked with
#   `dpkg -x` into <repo>/.vulkan/lavapipe. The ICD manifest
#   <repo>/.vulkan/lvp_icd.json points to it by absolute path.
#   (Bookworm's own Mesa 22 lavapipe is rejected by Dawn.)
# Fallback driver: SwiftShader shipped in Debian's `chromium` package
#   (about 10x slower than lavapipe).
#
# The environment to use is written to <repo>/.vulkan/env.sh (source it) and
# <repo>/.vulkan/env.json, and printed at the end.
#
# Usage: scripts/setup-vulkan.sh [--force] [--swiftshader] [--quiet]
#   --force        throw away .vulkan/ and set everything up again
#   --swiftshader  skip lavapipe and use chromium's SwiftShader directly
#   --quiet        print only the final env lines
# Environment:
#   VULKAN_DIR            default <repo>/.vulkan
#   VULKAN_DEBIAN_MIRROR  Debian mirror URI to use for backports
#                         (default: taken from /etc/apt/sources.list*)
#   WEBGPU_PROBE_DIR      directory from which `import('webgpu')` resolves,
#                         for the end-to-end Dawn check (default: repo root;
#                         the check is skipped when webgpu is not installed)
#
# Requires root (apt-get) unless everything is already in place.
# Idempotent: when .vulkan/env.sh exists and its driver still works, it only
# re-checks (well under a second) and prints the env.

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
VK_DIR=${VULKAN_DIR:-$REPO_ROOT/.vulkan}
PROBE_DIR=${WEBGPU_PROBE_DIR:-$REPO_ROOT}

FORCE=0 ONLY_SWIFTSHADER=0 QUIET=0
for arg in "$@"; do
  case $arg in
    --force) FORCE=1 ;;
    --swiftshader) ONLY_SWIFTSHADER=1 ;;
    --quiet|-q) QUIET=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup-vulkan: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log()  { [ "$QUIET" = 1 ] || echo "[setup-vulkan] $*" >&2; }
LOG_FILE=""   # apt/dpkg chatter goes here (set once $VK_DIR exists)
run_logged() {  # run_logged CMD...: output to $LOG_FILE, shown on failure
  local rc=0
  "$@" >>"$LOG_FILE" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then warn "command failed ($rc): $*"; tail -n 20 "$LOG_FILE" | sed 's/^/    /' >&2; fi
  return "$rc"
}
warn() { echo "[setup-vulkan] WARNING: $*" >&2; }
die()  { echo "[setup-vulkan] ERROR: $*" >&2; exit 1; }

export DEBIAN_FRONTEND=noninteractive
APT_SYS_OPTS=(-o DPkg::Lock::Timeout=300 -o Acquire::Retries=3)
SWIFTSHADER_ICD=/usr/lib/chromium/vk_swiftshader_icd.json

mkdir -p "$VK_DIR"
# .vulkan/ is generated; make it self-ignoring for git regardless of .gitignore.
[ -f "$VK_DIR/.gitignore" ] || echo '*' > "$VK_DIR/.gitignore"
# Serialize concurrent runs (e.g. parallel CI jobs).
exec 9>"$VK_DIR/.lock"
flock 9
LOG_FILE=$VK_DIR/setup.log
: > "$LOG_FILE"

# ---------------------------------------------------------------- verification

# Raw Vulkan check through libvulkan.so.1 with python ctypes: at least one
# physical device with Vulkan >= 1.1. Prints the device name.
vk_ctypes_check() {
  local py
  py=$(command -v python3 || true)
  [ -n "$py" ] || { echo "(python3 missing, ctypes check skipped)"; return 0; }
  "$py" - <<'PY'
import ctypes, sys
from ctypes import c_int, c_uint32, c_void_p, c_char_p, POINTER, byref
try:
    vk = ctypes.CDLL("libvulkan.so.1")
except OSError as e:
    sys.exit("cannot load libvulkan.so.1: %s" % e)
class AppInfo(ctypes.Structure):
    _fields_ = [("sType", c_int), ("pNext", c_void_p), ("pApplicationName", c_char_p),
                ("applicationVersion", c_uint32), ("pEngineName", c_char_p),
                ("engineVersion", c_uint32), ("apiVersion", c_uint32)]
class InstInfo(ctypes.Structure):
    _fields_ = [("sType", c_int), ("pNext", c_void_p), ("flags", c_uint32),
                ("pApplicationInfo", POINTER(AppInfo)), ("enabledLayerCount", c_uint32),
                ("ppEnabledLayerNames", c_void_p), ("enabledExtensionCount", c_uint32),
                ("ppEnabledExtensionNames", c_void_p)]
vk.vkCreateInstance.argtypes = [c_void_p, c_void_p, c_void_p]
vk.vkCreateInstance.restype = c_int
vk.vkEnumeratePhysicalDevices.argtypes = [c_void_p, POINTER(c_uint32), c_void_p]
vk.vkEnumeratePhysicalDevices.restype = c_int
vk.vkGetPhysicalDeviceProperties.argtypes = [c_void_p, c_void_p]
vk.vkDestroyInstance.argtypes = [c_void_p, c_void_p]
app = AppInfo(0, None, b"setup-vulkan", 0, b"setup-vulkan", 0, (1 << 22) | (1 << 12))
ci = InstInfo(1, None, 0, ctypes.pointer(app), 0, None, 0, None)
inst = c_void_p()
r = vk.vkCreateInstance(byref(ci), None, byref(inst))
if r != 0:
    sys.exit("vkCreateInstance failed: VkResult %d" % r)
n = c_uint32(0)
vk.vkEnumeratePhysicalDevices(inst, byref(n), None)
devs = (c_void_p * max(n.value, 1))()
vk.vkEnumeratePhysicalDevices(inst, byref(n), devs)
best = None
for i in range(n.value):
    props = ctypes.create_string_buffer(4096)
    vk.vkGetPhysicalDeviceProperties(devs[i], props)
    api = int.from_bytes(props.raw[0:4], "little")
    name = props.raw[20:276].split(b"\0")[0].decode(errors="replace")
    ver = "%d.%d.%d" % ((api >> 22) & 0x7F, (api >> 12) & 0x3FF, api & 0xFFF)
    if ((api >> 22) & 0x7F, (api >> 12) & 0x3FF) >= (1, 1):
        best = "%s (Vulkan %s)" % (name, ver)
        break
vk.vkDestroyInstance(inst, None)
if not best:
    sys.exit("no Vulkan >= 1.1 physical device (found %d devices)" % n.value)
print(best)
PY
}

# End-to-end check with Dawn: adapter + device + a tiny compute shader.
# Returns 0 = ok, 1 = failed, 3 = skipped (webgpu not installed / no node).
dawn_check() {
  command -v node >/dev/null 2>&1 || { echo "(node missing, Dawn check skipped)"; return 3; }
  ( cd "$PROBE_DIR" && timeout 120 node --input-type=module - ) <<'JS'
let mod;
try { mod = await import('webgpu'); }
catch (e) { console.log('(npm package webgpu not resolvable, Dawn check skipped)'); process.exit(3); }
const { create, globals } = mod;
Object.assign(globalThis, globals);
const gpu = create([]);
const adapter = await gpu.requestAdapter();
if (!adapter) { console.log('Dawn: requestAdapter() returned null'); process.exit(1); }
const device = await adapter.requestDevice();
const module = device.createShaderModule({ code: `
  @group(0) @binding(0) var<storage, read_write> d: array<f32>;
  @compute @workgroup_size(4) fn main(@builtin(global_invocation_id) id: vec3u) { d[id.x] = d[id.x] * 2.0; }` });
const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
const buf = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
const rb = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
device.queue.writeBuffer(buf, 0, new Float32Array([1, 2, 3, 4]));
const bg = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] });
const enc = device.createCommandEncoder();
const pass = enc.beginComputePass(); pass.setPipeline(pipeline); pass.setBindGroup(0, bg); pass.dispatchWorkgroups(1); pass.end();
enc.copyBufferToBuffer(buf, 0, rb, 0, 16);
device.queue.submit([enc.finish()]);
await rb.mapAsync(GPUMapMode.READ);
const out = Array.from(new Float32Array(rb.getMappedRange()));
rb.unmap();
device.destroy();
if (out.join(',') !== '2,4,6,8') { console.log('Dawn: wrong compute result ' + out); process.exit(1); }
console.log(`Dawn OK: ${adapter.info.vendor} / ${adapter.info.architecture} / ${adapter.info.description}`);
process.exit(0);
JS
}

# verify_env FILE: run the checks in a subshell with FILE sourced.
verify_env() {
  local envfile=$1 out rc
  out=$( set +u; . "$envfile"; vk_ctypes_check 2>&1 ) || { log "Vulkan check failed: $out"; return 1; }
  log "Vulkan: $out"
  # Dawn prints harmless "Warning: ... artificially reduced" lines on stderr.
  rc=0
  out=$( set +u; . "$envfile"; dawn_check 2>/dev/null ) || rc=$?
  [ -n "$out" ] && log "$out"
  [ "$rc" = 0 ] || [ "$rc" = 3 ]
}

print_env() {
  if [ "$QUIET" = 1 ]; then grep '^export' "$VK_DIR/env.sh"; return; fi
  echo
  echo "CPU Vulkan driver ready ($(cat "$VK_DIR/driver" 2>/dev/null || echo '?')). Environment (also in $VK_DIR/env.sh):"
  grep '^export' "$VK_DIR/env.sh" | sed 's/^/  /'
  echo "Use:  source $VK_DIR/env.sh   (before starting node)"
}

# write_env DRIVER ICD_JSON [LD_LIBRARY_PATH_DIR]
write_env() {
  local driver=$1 icd=$2 ldp=${3:-} tmp="$VK_DIR/env.sh.tmp"
  {
    echo "# Generated by scripts/setup-vulkan.sh - CPU Vulkan driver: $driver"
    echo "# Source this before starting node (LD_LIBRARY_PATH, if present, is read only at process start)."
    echo "export VK_ICD_FILENAMES=$icd"
    echo "export VK_DRIVER_FILES=$icd"
    [ -n "$ldp" ] && echo "export LD_LIBRARY_PATH=$ldp\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
  } > "$tmp"
  {
    printf '{\n  "driver": "%s",\n  "VK_ICD_FILENAMES": "%s",\n  "VK_DRIVER_FILES": "%s"' "$driver" "$icd" "$icd"
    [ -n "$ldp" ] && printf ',\n  "LD_LIBRARY_PATH": "%s"' "$ldp"
    printf '\n}\n'
  } > "$VK_DIR/env.json"
  echo "$driver" > "$VK_DIR/driver"
  mv -f "$tmp" "$VK_DIR/env.sh"
}

# ------------------------------------------------------------------- fast path

if [ "$FORCE" = 1 ]; then
  log "--force: removing previous setup in $VK_DIR"
  rm -rf "$VK_DIR/lavapipe" "$VK_DIR/apt" "$VK_DIR"/.staging.* \
         "$VK_DIR/env.sh" "$VK_DIR/env.json" "$VK_DIR/lvp_icd.json" "$VK_DIR/driver"
elif [ -f "$VK_DIR/env.sh" ]; then
  if [ "$ONLY_SWIFTSHADER" = 1 ] && [ "$(cat "$VK_DIR/driver" 2>/dev/null)" != swiftshader ]; then
    log "--swiftshader requested; existing setup is $(cat "$VK_DIR/driver" 2>/dev/null), redoing"
  elif verify_env "$VK_DIR/env.sh"; then
    log "already set up and working; nothing to do"
    print_env
    exit 0
  else
    log "existing setup in $VK_DIR does not work any more; redoing it"
  fi
fi

# --------------------------------------------------------------- system apt

[ "$(id -u)" = 0 ] || die "must run as root (needs apt-get)"

APT_UPDATED=0
apt_update_once() {
  [ "$APT_UPDATED" = 1 ] && return 0
  log "apt-get update"
  run_logged apt-get "${APT_SYS_OPTS[@]}" update || warn "apt-get update reported errors"
  APT_UPDATED=1
}
# Lists never fetched on this machine -> update before anything else.
if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then apt_update_once; fi

pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

apt_install() {  # apt_install PKG...; retries once after apt-get update
  local missing=() p
  for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
  [ "${#missing[@]}" = 0 ] && return 0
  log "apt-get install ${missing[*]}"
  if ! run_logged apt-get "${APT_SYS_OPTS[@]}" install -y --no-install-recommends "${missing[@]}"; then
    [ "$APT_UPDATED" = 1 ] && return 1
    apt_update_once
    run_logged apt-get "${APT_SYS_OPTS[@]}" install -y --no-install-recommends "${missing[@]}"
  fi
}

apt_install libvulkan1 || die "could not install libvulkan1"

# ------------------------------------------------------------------- lavapipe

# The Debian mirror the machine already uses (deb822 *.sources or one-line
# *.list), for the private backports source list.
# Mesa >= this is known to be accepted by Dawn (bookworm's 22.3 is rejected);
# used only when the release's own suite (not backports) would supply Mesa.
MIN_SYSTEM_MESA=25
detect_mirror() {
  local codename=$1
  if [ -n "${VULKAN_DEBIAN_MIRROR:-}" ]; then echo "$VULKAN_DEBIAN_MIRROR"; return; fi
  local f uri=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk -v cn="$codename" '
      function flush() { if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " cn " ") && uris != "" && !found) { split(uris, u, " "); print u[1]; found=1 } types=suites=uris="" }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      tolower($1) == "types:"  { $1=""; types=$0 }
      tolower($1) == "uris:"   { $1=""; sub(/^ +/, ""); uris=$0 }
      tolower($1) == "suites:" { $1=""; suites=$0 }
      END { flush() }' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(awk -v cn="$codename" '
      $1 == "deb" { i=2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                    if ($(i+1) == cn) { print $i; exit } }' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  echo "http://deb.debian.org/debian"
}

setup_lavapipe() {
  local codename=""
  [ -r /etc/os-release ] && codename=$(. /etc/os-release; [ "${ID:-}" = debian ] && echo "${VERSION_CODENAME:-}")
  [ -n "$codename" ] || { warn "not a Debian system with a codename; lavapipe-from-backports unsupported"; return 1; }

  local mirror keyring="" apt_dir="$VK_DIR/apt"
  mirror=$(detect_mirror "$codename")
  [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] && keyring="[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
  log "mirror: $mirror (suite $codename-backports)"

  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
  echo "deb ${keyring}${mirror} ${codename}-backports main" > "$apt_dir/sources.list"
  local -a P=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
              -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
              -o APT::Sandbox::User=root -o Acquire::Languages=none -o Acquire::Retries=3)
  log "apt-get update (private, ${codename}-backports only)"
  run_logged apt-get "${P[@]}" update || { warn "private apt-get update of backports failed"; return 1; }
  # apt-get update exits 0 on unreachable mirrors; check the index arrived.
  compgen -G "$apt_dir/lists/*backports*_Packages*" >/dev/null \
    || { warn "no ${codename}-backports index fetched from $mirror (unreachable? see $LOG_FILE)"; return 1; }

  local stage="$VK_DIR/.staging.$$" debs="$VK_DIR/.staging.$$/debs" root="$VK_DIR/.staging.$$/root"
  rm -rf "$VK_DIR"/.staging.*
  mkdir -p "$debs" "$root"

  # Resolve mesa-vulkan-drivers' dependencies: keep what the system already
  # satisfies, apt-get install what bookworm can satisfy, and download from
  # backports (into the unpacked tree) what only backports can satisfy.
  local -a queue=(mesa-vulkan-drivers) sys_pkgs=() seen=()
  local pkg op ver deb dep inst cand_sys cand_bpo
  first_version() { apt-cache "$@" madison "$pkg" 2>/dev/null | awk -F'|' 'NR==1 { gsub(/ /, "", $2); print $2 }'; }
  satisfies() { [ -z "$2" ] || dpkg --compare-versions "$1" "$2" "$3"; }
  while [ "${#queue[@]}" -gt 0 ]; do
    read -r pkg op ver <<<"${queue[0]}"; queue=("${queue[@]:1}")
    [[ " ${seen[*]:-} " == *" $pkg "* ]] && continue
    seen+=("$pkg")
    if [ "$pkg" != mesa-vulkan-drivers ]; then
      inst=$(dpkg-query -W -f='${Status} ${Version}' "$pkg" 2>/dev/null | awk '/ok installed/ { print $4 }')
      if [ -n "$inst" ] && satisfies "$inst" "$op" "$ver"; then continue; fi
      cand_sys=$(first_version)
      if [ -n "$cand_sys" ] && satisfies "$cand_sys" "$op" "$ver"; then sys_pkgs+=("$pkg"); continue; fi
    fi
    cand_bpo=$(first_version "${P[@]}")
    local -a from=("${P[@]}")
    local suite="$codename-backports"
    if [ "$pkg" = mesa-vulkan-drivers ]; then
      # Newer releases may ship a recent enough Mesa in their own suite.
      cand_sys=$(first_version)
      if [ -n "$cand_sys" ] && dpkg --compare-versions "$cand_sys" ge "$MIN_SYSTEM_MESA" \
         && { [ -z "$cand_bpo" ] || dpkg --compare-versions "$cand_sys" ge "$cand_bpo"; }; then
        cand_bpo=$cand_sys from=() suite=$codename
      elif [ -z "$cand_bpo" ] || dpkg --compare-versions "$cand_bpo" lt "$MIN_SYSTEM_MESA"; then
        warn "no mesa-vulkan-drivers >= $MIN_SYSTEM_MESA in $codename-backports (found: ${cand_bpo:-none}) or $codename (${cand_sys:-none})"
        rm -rf "$stage"; return 1
      fi
    fi
    if [ -z "$cand_bpo" ] || ! satisfies "$cand_bpo" "$op" "$ver"; then
      warn "cannot satisfy dependency '$pkg ${op:-} ${ver:-}' from $codename or $codename-backports"
      rm -rf "$stage"; return 1
    fi
    log "download $pkg $cand_bpo ($suite)"
    ( cd "$debs" && run_logged apt-get ${from[@]+"${from[@]}"} -o APT::Sandbox::User=root download "$pkg=$cand_bpo" ) \
      || { warn "download of $pkg failed"; rm -rf "$stage"; return 1; }
    deb=$(ls "$debs/${pkg}_"*.deb | head -n1)
    # Queue its Depends (first alternative of each, arch qualifier dropped).
    while IFS= read -r dep; do
      [ -n "$dep" ] || continue
      dep=${dep%%|*}
      if [[ $dep =~ ^[[:space:]]*([a-z0-9.+-]+)(:[a-z0-9]+)?[[:space:]]*(\(([<>=]+)[[:space:]]*([^\)]+)\))? ]]; then
        [ "${BASH_REMATCH[1]}" = libvulkan1 ] && continue   # installed system-wide above
        queue+=("${BASH_REMATCH[1]} ${BASH_REMATCH[4]} ${BASH_REMATCH[5]%% }")
      fi
    done < <(dpkg-deb -f "$deb" Depends | tr ',' '\n')
  done

  if [ "${#sys_pkgs[@]}" -gt 0 ]; then
    apt_install "${sys_pkgs[@]}" || { warn "apt-get install ${sys_pkgs[*]} failed"; rm -rf "$stage"; return 1; }
  fi

  for deb in "$debs"/*.deb; do dpkg -x "$deb" "$root"; done
  local lvp
  lvp=$(find "$root" -name libvulkan_lvp.so -type f | head -n1)
  [ -n "$lvp" ] || { warn "libvulkan_lvp.so not found in mesa-vulkan-drivers"; rm -rf "$stage"; return 1; }
  local libdir=${lvp%/*}
  # Drop what lavapipe does not need (other GPU drivers ~50 MB, docs, layers).
  find "$libdir" -maxdepth 1 -name 'libvulkan_*.so' ! -name libvulkan_lvp.so -delete
  find "$libdir" -maxdepth 1 -name 'libVkLayer_*.so' -delete
  find "$root/usr/share/vulkan/icd.d" -name '*.json' ! -name 'lvp_icd.json' -delete 2>/dev/null || true
  rm -rf "$root/usr/share/doc" "$root/usr/share/vulkan/implicit_layer.d" "$root/usr/share/vulkan/explicit_layer.d" "$root/usr/bin"
  rm -rf "$debs"

  # Final layout: $VK_DIR/lavapipe/usr/lib/<triplet>/libvulkan_lvp.so
  rm -rf "$VK_DIR/lavapipe"
  mv "$root" "$VK_DIR/lavapipe"
  rm -rf "$stage"
  lvp=$VK_DIR/lavapipe${lvp#"$root"}
  libdir=${lvp%/*}

  # Make the backports libraries (libdrm etc.) win over the system ones
  # without LD_LIBRARY_PATH: set RUNPATH=$ORIGIN on the unpacked ELF objects.
  # Falls back to LD_LIBRARY_PATH in env.sh if patchelf is unavailable.
  local ldp=""
  if { command -v patchelf >/dev/null 2>&1 || apt_install patchelf; } && command -v patchelf >/dev/null 2>&1; then
    local so
    for so in "$libdir"/*.so*; do
      [ -f "$so" ] && [ ! -L "$so" ] || continue
      patchelf --set-rpath '$ORIGIN' "$so" || { ldp=$libdir; break; }
    done
  else
    ldp=$libdir
  fi
  local missing
  missing=$( if [ -n "$ldp" ]; then export LD_LIBRARY_PATH=$ldp; fi; ldd "$lvp" | grep 'not found' || true )
  [ -z "$missing" ] || { warn "unresolved libraries for lavapipe:"$'\n'"$missing"; return 1; }

  local api
  api=$(sed -n 's/.*"api_version"[^"]*"\([^"]*\)".*/\1/p' "$VK_DIR/lavapipe/usr/share/vulkan/icd.d/lvp_icd.json" 2>/dev/null | head -n1)
  cat > "$VK_DIR/lvp_icd.json" <<EOF
{
    "file_format_version": "1.0.0",
    "ICD": {
        "library_path": "$lvp",
        "api_version": "${api:-1.3.0}"
    }
}
EOF
  write_env lavapipe "$VK_DIR/lvp_icd.json" "$ldp"
  verify_env "$VK_DIR/env.sh"
}

setup_swiftshader() {
  apt_install chromium || { warn "apt-get install chromium failed"; return 1; }
  [ -f "$SWIFTSHADER_ICD" ] || { warn "$SWIFTSHADER_ICD missing after installing chromium"; return 1; }
  write_env swiftshader "$SWIFTSHADER_ICD"
  verify_env "$VK_DIR/env.sh"
}


ok=0
if [ "$ONLY_SWIFTSHADER" = 0 ]; then
  log "setting up lavapipe (Mesa, ${VK_DIR}/lavapipe)"
  if setup_lavapipe; then ok=1; else warn "lavapipe setup failed; falling back to SwiftShader (chromium)"; fi
fi
if [ "$ok" = 0 ]; then
  rm -f "$VK_DIR/env.sh" "$VK_DIR/env.json" "$VK_DIR/driver"
  log "setting up SwiftShader from Debian chromium"
  setup_swiftshader && ok=1
fi
if [ "$ok" = 0 ]; then
  rm -f "$VK_DIR/env.sh" "$VK_DIR/env.json" "$VK_DIR/driver"
  die "no working CPU Vulkan driver could be set up"
fi
log "done in ${SECONDS} s; $(du -sh "$VK_DIR" 2>/dev/null | cut -f1) in $VK_DIR"
print_env
