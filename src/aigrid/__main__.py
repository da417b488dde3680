from aigrid.cli import main

main()
