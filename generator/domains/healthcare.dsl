# Healthcare: an outpatient clinic's scheduling and billing desk.
domain healthcare
about outpatient clinic front office: patients, doctors, departments, clinic sessions and appointment slots, prescriptions, lab orders, referrals and invoices
brand Cedar Grove Medical Group | Riverbend Health Clinic | Summit Family Practice | Bayview Medical Center | Willow Creek Health

table departments department core rows 5-9 create
  label name pick(Cardiology|Dermatology|Pediatrics|Orthopedics|Neurology|Family Medicine|Obstetrics|Endocrinology|Gastroenterology|Ophthalmology|Pulmonology|Rheumatology|Urology|Allergy and Immunology)
  col floor int(1,6)
  col phone phone opt edit
  col head_nurse person opt edit
  status status open:6 closed:1
  action close "close {it} to new bookings" open -> closed
  action reopen "reopen {it} for bookings" closed -> open

table insurers insurer rows 4-7 create
  label name pick(BlueRiver Health|Summit Care Plans|Evergreen Mutual|Northstar Medicare Advantage|Coastal Health Alliance|Keystone Health Partners|Liberty Benefit Plans|Unity Health Insurance|Harborview Health Plan|Prairie Medical Mutual|Crescent Health)
  col payer_code code(PAY)
  col claims_phone phone opt
  col plan_type enum(hmo,ppo,epo,medicare,medicaid)
  status status in_network:6 out_of_network:1
  action drop_from_network "mark {it} as out of network" in_network -> out_of_network
  action add_to_network "bring {it} back in network" out_of_network -> in_network

table doctors doctor core rows 8-16 create
  label full_name person
  ref department_id departments
  col credential enum(md,do,np,pa)
  col license_number code(LIC)
  col email email opt
  col years_experience int(2,35) opt
  col accepting_new_patients bool edit
  status status active:8 on_leave:1 retired:1
  action place_on_leave "place {it} on leave" active -> on_leave
  action return_from_leave "bring {it} back from leave" on_leave -> active
  action retire "record the retirement of {it}" active,on_leave -> retired

table patients patient core rows 16-30 create
  label full_name person
  col email email
  col phone phone opt edit
  col date_of_birth pastdate(30000)
  col blood_type enum(a_pos,a_neg,b_pos,b_neg,ab_pos,ab_neg,o_pos,o_neg) opt
  col preferred_language enum(english,spanish,mandarin,vietnamese,arabic,french) opt edit
  ref insurer_id insurers opt
  ref primary_doctor_id doctors opt
  status status active:9 inactive:1
  action deactivate "mark {it} as inactive" active -> inactive
  action reactivate "reactivate {it}" inactive -> active

table rooms room rows 4-8 create
  label name combo(Exam|Consult|Procedure|Treatment ; Room 1|Room 2|Room 3|Room 4|Room 5|Room 6|Room 7|Room 8)
  ref department_id departments
  col has_ultrasound bool opt
  status status available:6 under_maintenance:1
  action close_for_maintenance "take {it} out of service for maintenance" available -> under_maintenance
  action reopen "put {it} back into service" under_maintenance -> available

table clinic_sessions clinic_session core rows 10-18 create
  label session_code code(SES)
  ref doctor_id doctors
  ref room_id rooms opt
  col session_date futuredate(21)
  col shift enum(morning,afternoon,evening)
  col open_slots int(0,10)
  status status scheduled:7 cancelled:1
  action cancel "cancel {it}" scheduled -> cancelled
  action reinstate "reinstate {it}" cancelled -> scheduled

table appointments appointment core rows 18-34 create
  label booking_ref code(APT)
  ref patient_id patients
  ref session_id clinic_sessions consumes open_slots by slots_needed
  col slots_needed int(1,2)
  col visit_type enum(new_patient,follow_up,annual_physical,urgent_care,telehealth)
  col reason pick(Persistent cough|Knee pain|Blood pressure check|Skin rash|Medication review|Headaches|Back pain|Annual checkup|Allergy flare-up|Post-surgery follow-up) opt edit
  col booked_at past(30)
  status status booked:5 checked_in:2 completed:5 cancelled:1 no_show:1
  action check_in "check in the patient for {it}" booked -> checked_in
  action complete "mark {it} as completed" checked_in -> completed
  action cancel "cancel {it}" booked,checked_in -> cancelled
  action mark_no_show "mark {it} as a no-show" booked -> no_show

table prescriptions prescription core rows 8-18 create
  label rx_number code(RX)
  ref patient_id patients
  ref doctor_id doctors
  col medication pick(Amoxicillin 500 mg|Lisinopril 10 mg|Metformin 500 mg|Atorvastatin 20 mg|Levothyroxine 50 mcg|Amlodipine 5 mg|Omeprazole 20 mg|Sertraline 50 mg|Albuterol inhaler|Cetirizine 10 mg|Prednisone 10 mg|Montelukast 10 mg)
  col directions pick(Once daily|Twice daily|Three times daily|At bedtime|As needed|Every 8 hours with food)
  col days_supply int(7,90)
  col refills int(0,5) edit
  status status active:6 on_hold:1 completed:2 discontinued:1
  action hold "put {it} on hold" active -> on_hold
  action resume "resume {it}" on_hold -> active
  action discontinue "discontinue {it}" active,on_hold -> discontinued

table lab_orders lab_order rows 6-16 create
  label order_number code(LAB)
  ref patient_id patients
  ref doctor_id doctors opt
  col test enum(cbc,lipid_panel,hba1c,metabolic_panel,thyroid_panel,urinalysis,vitamin_d,strep_culture)
  col priority enum(routine,urgent,stat) edit
  col fasting_required bool opt
  col ordered_at past(30)
  status status ordered:3 collected:3 resulted:4 cancelled:1
  action mark_collected "mark the specimen for {it} as collected" ordered -> collected
  action record_result "record results for {it}" collected -> resulted
  action cancel "cancel {it}" ordered,collected -> cancelled

table referrals referral rows 3-8 create
  label referral_code code(REF)
  ref patient_id patients
  ref doctor_id doctors
  ref department_id departments
  col urgency enum(routine,urgent)
  col reason pick(Specialist evaluation|Second opinion|Surgical consult|Imaging review|Chronic pain management|Abnormal lab results)
  status status pending:3 accepted:3 declined:1 completed:2
  action accept "accept {it}" pending -> accepted
  action decline "decline {it}" pending -> declined
  action complete "mark {it} as completed" accepted -> completed

table invoices invoice core rows 10-22 create
  label invoice_number code(INV)
  ref patient_id patients
  ref appointment_id appointments opt
  col amount_due money(40,1800)
  col insurance_covered money(0,1200) opt
  col due_on futuredate(45)
  col payment_method enum(card,cash,check,insurance_only) opt edit
  status status open:5 paid:5 overdue:2 written_off:1
  action pay "mark {it} as paid" open,overdue -> paid
  action mark_overdue "mark {it} as overdue" open -> overdue
  action write_off "write off {it}" overdue -> written_off
