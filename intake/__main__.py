from intake.serve import main

main()
