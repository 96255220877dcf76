"Print the N-th fenced ```bash block of the Quickstart section of a README (1-based)."
import re, sys
text = open(sys.argv[1], encoding='utf-8').read()
blocks = re.findall(r"^```bash\n(.*?)^```", text, flags=re.S | re.M)
print(blocks[int(sys.argv[2]) - 1], end='')
