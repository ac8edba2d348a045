"""``python -m bench``: see bench/README.md."""

from .run import main

if __name__ == "__main__":
    main(prog_name="python -m bench")
