from haven.intake.serve import main

main()
