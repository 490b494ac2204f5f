from intake.serving.serve import main

main()
