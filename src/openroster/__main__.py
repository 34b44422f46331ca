from openroster.cli import main

main()
