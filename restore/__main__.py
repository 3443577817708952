"""``python -m restore …`` (and ``torchrun … -m restore …``): the same CLI as the ``restore`` command."""
from restore.cli import main

if __name__ == "__main__":
    main()
