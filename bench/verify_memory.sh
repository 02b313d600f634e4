#!/usr/bin/env bash
# Peak memory of verifying a signed edXML package with one large base64 attachment:
# lienthong verify vs xmlsec1 --verify on the same file. Prints a table.
# Usage: bench/verify_memory.sh [MB ...]   (default: 1 20 100)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-1 20 100}")
[ "$#" -gt 0 ] || sizes=(1 20 100)
command -v xmlsec1 >/dev/null || { echo "xmlsec1 is required (apt-get install xmlsec1)"; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is required (apt-get install time)"; exit 2; }
cargo build --release --quiet
bin=target/release/lienthong
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
$bin --config config/lienthong.toml pki dev-init "$work/pki" >/dev/null
mkdir -p "$work/trust" "$work/inter"
cp "$work/pki/ca.pem" "$work/pki/crl.pem" "$work/trust/"; cp "$work/pki/intermediate.pem" "$work/inter/"
printf '%-8s %-10s %14s %10s\n' "size" "verifier" "peak RSS (MB)" "seconds"
for mb in "${sizes[@]}"; do
  python3 - "$mb" "$work/tmpl.xml" <<'PY'
import sys, base64, os
mb, path = int(sys.argv[1]), sys.argv[2]
payload = base64.b64encode(os.urandom(mb * 1024 * 1024 * 3 // 4)).decode()
sig = ('<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo>'
  '<CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>'
  '<SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
  '<Reference URI=""><Transforms><Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
  '<Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></Transforms>'
  '<DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue/></Reference></SignedInfo>'
  '<SignatureValue/><KeyInfo><X509Data/></KeyInfo></Signature>')
doc = ('<edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016"><edXML:edXMLHeader>'
  '<edXML:MessageHeader><edXML:From><edXML:OrganId>000.00.00.H99</edXML:OrganId></edXML:From></edXML:MessageHeader>'
  + sig + '</edXML:edXMLHeader><edXML:edXMLBody><edXML:AttachmentEncoded ContentId="1">' + payload +
  '</edXML:AttachmentEncoded></edXML:edXMLBody></edXML:edXMLEnvelope>')
open(path, 'w').write(doc)
PY
  xmlsec1 --sign --privkey-pem "$work/pki/signing/vpubnd.key,$work/pki/signing/vpubnd.pem" --output "$work/doc.xml" "$work/tmpl.xml" 2>/dev/null
  for v in lienthong xmlsec1; do
    if [ $v = lienthong ]; then cmd=($bin verify "$work/doc.xml" --trust "$work/trust" --intermediates "$work/inter")
    else cmd=(xmlsec1 --verify --trusted-pem "$work/pki/ca.pem" --untrusted-pem "$work/pki/intermediate.pem" "$work/doc.xml"); fi
    /usr/bin/time -v "${cmd[@]}" >/dev/null 2>"$work/time.txt" || { echo "$v failed on ${mb} MB"; cat "$work/time.txt" | head -5; }
    rss=$(awk -F: '/Maximum resident set size/ {print $2/1024}' "$work/time.txt")
    secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt")
    printf '%-8s %-10s %14.1f %10s\n' "${mb}MB" "$v" "$rss" "$secs"
  done
done
